"""insightmap."""
