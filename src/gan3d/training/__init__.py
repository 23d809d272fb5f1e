"""Lightning modules and callbacks: the only place Lightning lives (besides the DataModule)."""
