"""Dataset intake: the limits a ZIP or NPZ upload must stay within, and the image size."""

from .env import env_int, env_str

# A ZIP (or NPZ, which is a ZIP of .npy files) is checked against these before anything is
# decompressed, and again while it is: sizes are counted as bytes come out, never taken
# from the archive's own directory alone.
DOWNHILL_ZIP_MAX_ENTRIES = env_int("DOWNHILL_ZIP_MAX_ENTRIES", 100_000)
DOWNHILL_ZIP_MAX_UNCOMPRESSED_MB = env_int("DOWNHILL_ZIP_MAX_UNCOMPRESSED_MB", 4096)
# Uncompressed / compressed size of one member. PNG and JPEG files barely compress (about 1),
# real .npy arrays rarely beyond 20; a zip bomb is in the thousands.
DOWNHILL_ZIP_MAX_RATIO = float(env_str("DOWNHILL_ZIP_MAX_RATIO", "100"))
# Images from a ZIP are resized to their most common size, scaled down so that its longer
# side is at most this many pixels (64 keeps a small CNN trainable on a CPU).
DOWNHILL_IMAGE_MAX_SIDE = env_int("DOWNHILL_IMAGE_MAX_SIDE", 64)
