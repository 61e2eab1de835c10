"""Reports of ``summary`` and ``compare`` as pictures: Altair charts, one offline HTML file, and
GitHub-flavoured markdown for CI."""
