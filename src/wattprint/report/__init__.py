"""A run shown, not only read: a self-contained HTML report with a hand-drawn SVG figure
(``report.figure``) and the paper-ready sentence (``report.sentence``). No plotting library,
no network: the file works offline and from an e-mail attachment."""
