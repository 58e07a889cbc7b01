"""cutout's model code: architectures, export to TorchScript, the cutout.json metadata schema."""
