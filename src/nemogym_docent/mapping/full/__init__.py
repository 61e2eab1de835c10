"""Full detail: what a run shows beyond Docent's converter."""
