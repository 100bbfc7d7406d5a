"""An example job kind: ``audio.analyze`` measures an uploaded WAV or FLAC file."""
