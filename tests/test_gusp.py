"""The taxonomy is the convention's: exact labels, API codes, and one source for all of it."""

import pytest

from walkapp import gusp


def test_seven_issues_with_the_conventions_labels_and_api_codes():
    assert [(t.code, t.label) for t in gusp.ISSUES] == [
        ("ambiance", "Ambiance urbaine (tranquillité, sécurité)"),
        ("proprete", "Propreté, entretien"),
        ("mobilites", "Mobilités et déplacements"),
        ("dechets", "Gestion de tous les types de déchets"),
        ("chantiers", "Gestions transitoires et de chantiers"),
        ("usagers", "Relation aux usagers"),
        ("services", "Accès aux services de proximité"),
    ]
    assert len({t.colour for t in gusp.ISSUES}) == 7


def test_four_angles_three_responses_five_states():
    assert [(t.code, t.label) for t in gusp.ANGLES] == [
        ("gestion", "Entretien et gestion"), ("conception", "Conception"),
        ("usages", "Usages"), ("cooperation", "Coopération et veille"),
    ]
    assert [t.label for t in gusp.RESPONSES] == [
        "Réponse gestion", "Réponse usage (prévention, sanction)", "Réponse conception / aménagement",
    ]
    assert [t.label for t in gusp.ACTION_STATES] == ["À engager", "En cours", "Réalisée", "Reportée", "Abandonnée"]
    assert [t.label for t in gusp.POLARITIES] == ["Point faible", "Point fort"]
    assert gusp.codes("polarity") == ("negative", "positive")


def test_lookups_never_raise_in_a_page():
    assert gusp.label("issue", "dechets") == "Gestion de tous les types de déchets"
    assert gusp.label("issue", "inconnu") == "inconnu"
    assert gusp.label("issue", None) == ""
    assert gusp.is_code("angle", "usages") and not gusp.is_code("angle", "Usages")


def test_table_choices_come_from_the_taxonomy():
    from walkapp.tables import Action, Observation

    assert [c.value for c in Observation.issue._meta.choices] == list(gusp.codes("issue"))
    assert [c.value for c in Observation.angle._meta.choices] == list(gusp.codes("angle"))
    assert [c.value for c in Action.state._meta.choices] == list(gusp.codes("action_state"))


def test_every_text_on_a_taxonomy_colour_reads_at_aa():
    """Black or white by computed contrast (walkapp/colours.py): the issue's offenders pass at 4.5:1."""
    from walkapp import colours

    assert round(colours.contrast("#009E73", "#FFFFFF"), 2) == 3.42  # the figure axe-core reported
    assert round(colours.contrast("#D55E00", "#FFFFFF"), 2) == 3.87
    assert gusp.term("issue", "proprete").on_colour == colours.BLACK
    assert gusp.term("issue", "chantiers").on_colour == colours.BLACK
    assert gusp.term("action_state", "reportee").on_colour == colours.BLACK
    assert gusp.term("issue", "mobilites").on_colour == colours.WHITE
    for kind in ("issue", "action_state", "polarity"):
        for code in gusp.codes(kind):
            t = gusp.term(kind, code)
            assert colours.contrast(t.colour, t.on_colour) >= colours.AA_NORMAL_TEXT, (kind, code)
    assert gusp.template_globals()["text_colour"]("#555555") == colours.WHITE
    with pytest.raises(ValueError):
        colours.text_colour("vert")
