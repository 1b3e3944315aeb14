"""IoU of boxes (numpy) and masks (RLE through pycocotools.mask)."""
