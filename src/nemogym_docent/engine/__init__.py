"""Running a line task over many inputs: chunks, workers, selection and follow stages."""
