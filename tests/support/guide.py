"""Share a Markdown source whose automobile section no full-text search for "car" finds."""

GUIDE = """# Garage guide

## Automobile upkeep

An automobile needs fresh gasoline, clean oil and a motor that is tuned twice a year.

## Houseplants

Ferns prefer shade, moist soil and a north window.

## Tides

The moon pulls the oceans, and the shore sees two high waters a day.
"""
AUTOMOBILE, TIDES = "Garage guide / Automobile upkeep", "Garage guide / Tides"
