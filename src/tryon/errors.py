"""Errors a user can cause and fix. The CLI turns them into exit code 2 and one line on stderr."""

from __future__ import annotations


class TryOnError(Exception):
    """Base class of every error caused by the input or the set-up rather than by a bug."""


class InputError(TryOnError):
    """The input file or array cannot be used (unreadable, not an image, too large, ...)."""


class UnreadableImageError(InputError):
    """The file is not an image this package reads (empty, truncated, another format)."""


class ImageTooLargeError(InputError):
    """The file or the image is over the configured size or pixel limit."""


class NoPersonError(InputError):
    """No person, or no usable body, was found in the person photo."""


class MultiplePersonsError(InputError):
    """Several persons fill the photo and none clearly dominates."""


class GarmentError(InputError):
    """The garment photo has no clear garment outline, or the category does not fit it."""


class PoseError(InputError):
    """The person is found, but their pose does not show what the garment needs (knees for trousers...)."""


class OutfitError(InputError):
    """The person's clothes cannot be told apart where the new garment goes (the parse reads two
    garments as one): the new one would be hidden, nearly whole, under what is kept."""


class ModelUnavailableError(TryOnError):
    """A model file is missing and cannot be fetched (offline, or the registry refused)."""


class WeightsError(TryOnError):
    """Model weights are missing, partial, or do not fit the model (keys and shapes named)."""
