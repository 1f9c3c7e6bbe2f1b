"""Server-rendered review pages: sources, timelines, diff review, consultation view.

The pages read the same stores as the JSON API and write only through :mod:`tracker.review.decisions`,
so a decision taken here is what the API, the impact worklist and later digests show.
"""
