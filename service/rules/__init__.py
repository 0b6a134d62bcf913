"""One pure module per feature (F1-F10): facts + knowledge + T -> Finding with Evidence."""
