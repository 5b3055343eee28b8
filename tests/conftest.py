import os

import matplotlib

# plots in tests go to files, never to a screen
matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")
