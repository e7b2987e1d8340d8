"""voicecoach: a voice-guided, eyes-free workout coach for the terminal."""

__version__ = "0.1.0"
