"""The DICOM conformance corpus: generated variants of real and simulated series.

One class of input per module.

Each module builds its variants (from ``../shared/data`` and from the simulator) in a temporary
folder and states the expected outcome of each: the same SUV factor, SUVmax and lesion metrics as
the clean original (1e-6 relative for lossless), or the expected warning or error text.
"""
