"""GPU instance facts bundled with eks-gpu (generated data files, loaded lazily)."""
