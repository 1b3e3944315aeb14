"""Import-time name only (torchmetrics' image metrics import it when torchvision is present)."""
