"""Analytics over the warehouse: crisis episodes, ``ascolto query`` and ``ascolto report``.

The indices themselves are SQL views in ``schemas/warehouse/`` (BI tools read them directly);
this package holds what SQL alone expresses badly (the crisis detector's state machine) and the
commands that read the views.
"""
