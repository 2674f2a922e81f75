"""E-mail to departments (issue 23): what is queued (`notices`), what a message says
(`message`), how it is sent (`smtp`) and the worker's job (`job`)."""
