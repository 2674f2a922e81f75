"""Speech: intent matching (and, with the speech issue, Vosk recognition and prompts)."""
