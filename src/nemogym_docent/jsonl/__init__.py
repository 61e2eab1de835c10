"""The one reader of NeMo Gym exports: files, compression, discovery, side files, lines."""
