"""Dataset intake: the limits a ZIP or NPZ upload must stay within, the image size, and the
size above which an upload is read in the background."""

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

# Uploads up to this size are read inside the request and answered `ready` (or 400 naming the
# line); larger ones are stored as they stream in, answered `processing`, and read by the
# worker's `downhill.process_dataset` task on the `datasets` queue, which sets `ready` or
# `failed` with the same message. 0 sends every upload to the worker. Reading a CSV takes about
# one CPU second per 55 MB (BENCHMARKS.md, Ingest: 2-core Xeon VM), so 32 MB holds a request
# well under a second; a large one is read by the worker while it arrives (receiving.py).
DOWNHILL_INLINE_INGEST_MB = env_int("DOWNHILL_INLINE_INGEST_MB", 32)

# Columns a table may have (a CSV's header, an NPZ's X plus y); checked before any value is
# read. 2,000 holds MNIST as a CSV (785) with room; a page of the widest allowed table renders
# quickly (tests/datasets/test_wide_tables.py).
DOWNHILL_MAX_COLUMNS = env_int("DOWNHILL_MAX_COLUMNS", 2000)
# A ZIP of images is decoded inside the request only while its images (as their headers say)
# hold at most this many million pixels; more go to the datasets worker like a large upload,
# whatever the ZIP's size (40 one-colour PNGs of 6.4 MB once held a request for 27.5 s).
# Decoding runs at roughly 20-25 megapixels a second here, so 20 holds a request about 1 s.
DOWNHILL_INLINE_IMAGE_MEGAPIXELS = env_int("DOWNHILL_INLINE_IMAGE_MEGAPIXELS", 20)

# A large upload is read by the worker while it arrives; if no byte of it arrives for this many
# seconds (a client or web process lost mid-upload), the dataset fails saying so.
DOWNHILL_UPLOAD_STALL_SECONDS = env_int("DOWNHILL_UPLOAD_STALL_SECONDS", 120)
