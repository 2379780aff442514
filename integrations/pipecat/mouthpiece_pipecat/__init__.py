"""A Mouthpiece live session as a Pipecat video service."""

from .video import MouthpieceVideoService

__all__ = ["MouthpieceVideoService"]
