"""Regulated values on the dosing session: the REMS monitoring form owed after each session and
a supervisor's recorded dose deviation."""
