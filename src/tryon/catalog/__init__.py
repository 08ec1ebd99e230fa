"""The shop's catalog: its garments and metadata, their embeddings, similar search and "complete the look"."""
