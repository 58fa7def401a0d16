"""Image models: small CNNs trained here from a config, and ImageNet-pretrained EfficientNet-Lite backbones with
a trained head; ImageModel is the servable a trial measures (images in, one logit row per image out)."""
