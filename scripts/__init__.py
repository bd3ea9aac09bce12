"""Developer scripts that build and sync the deployment assets (see scripts/assets)."""
