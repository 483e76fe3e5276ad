"""Scoring: the jointly owned scoring model, and the fit, engagement, grade and score of every lead.

Between ``leads`` (below) and ``funnel`` (above). When leads change, ``leads.signals.leads_changed``
queues their rescore (``receivers``, ``tasks``); after new scores are written,
``scoring.signals.leads_scored`` lets the funnel promote the leads that meet the MQL bar
(``qualification``). Scoring never moves a lead itself.

* ``models`` — ``ScoringModel`` (versioned rules), ``ScoreChange`` (score history), ``ScoringRun`` (full-run
  progress).
* ``rules`` — what rules mean: the fit fields, and a stored model compiled for both evaluators.
* ``scoring`` — the incremental path: a few leads at a time, in Python.
* ``scoring_sql`` — the full-rescore statement (PostgreSQL), giving the same numbers as the Python path.
* ``rescore`` — full runs over every lead in id ranges; ``sweep`` — rescoring leads a lost message left stale.
* ``qualification`` — the active model and the MQL bar, the contract with the funnel.
* ``schemas`` — validation of a proposed model; ``versions`` — propose, approve, activate;
  ``describe`` — a model and a draft's changes in plain words.
* ``report`` — the scoring page's distribution and calibration; ``views``, ``forms``, ``api``, ``tasks`` —
  thin interfaces.
"""
