"""The Textual front end: the App, screens, widgets and messages."""
