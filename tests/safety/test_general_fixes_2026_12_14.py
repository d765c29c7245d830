"""General fixes of policy 2026.12.14, each with a positive and a near miss written for this file
(not copied from the blind rounds): a suspicion later excluded in the same conversation, real
English words that are not misspellings of policy words, a generic word that means the
non-metastasising skin cancer named beside it, years that are not volumes, the weaker of two
sides, a bare 'degrees' without a temperature cue, a sensory level as examined, and a new clause
of symptoms after a negated one."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401


EXACT = [
    # A suspicion named earlier and definitely excluded later is resolved ...
    ("suspicion_then_excluded", "Admitted overnight as query cauda equina. MRI this morning: no cauda equina compression, CES excluded. Home with physio.", []),
    ("discitis_then_excluded", "GP sent him in as ?discitis. MRI normal and discitis has been excluded; CRP 4.", []),
    ("suspicion_over_turns", ["Seen in ED as possible CES, awaiting MRI.", "Update: the scan was clear and CES was excluded, so she went home."], []),
    # ... but not by an exclusion that comes first, nor by a later hypothetical, nor when the
    # later mention is itself uncertain.
    ("excluded_then_suspected", "CES was excluded in 2019. Now new saddle numbness since Friday, ?CES again.", ["cauda_equina"]),
    ("suspicion_then_hypothetical", "Referred as ?CES. If the MRI shows no CES she can go home.", ["cauda_equina"]),
    ("suspicion_still_open", "Admitted as ?CES. CES not yet excluded, MRI tonight.", ["cauda_equina"]),
    # A definite sign followed by its negation still escalates (contradictions are not resolved).
    ("sign_then_negated", "She has new saddle numbness. Later on the phone: no saddle numbness.", ["cauda_equina"]),
    # A real English word is not corrected to a policy word by the speller.
    ("neurogenic_not_neutropenic", "MS with neurogenic bladder, self-catheterises, now a low grade ache in the lower back after gardening.", []),
    ("neutropenic_counts", "On chemo and neutropenic, now back pain and shivering.", ["infection"]),
    ("typo_still_read", "Since yesterday he has urinary retension and new back pain.", ["cauda_equina"]),
    # A generic word meaning the skin cancer named beside it.
    ("generic_means_bcc", "Mechanical low back pain after gardening. Her only 'cancer' was a basal cell carcinoma on the cheek, excised.", []),
    ("specific_cancer_beside_bcc", "Breast cancer 2019 and a BCC on the nose; new back pain waking her at night.", ["malignancy"]),
    # A year is not a bladder volume.
    ("year_not_volume", "Back pain. DEXA scan in 2021 was normal, bladder fine.", []),
    ("bladder_scan_volume", "Back pain, bladder scan 650 after voiding.", ["cauda_equina"]),
    # The weaker of two sides, named as an attribute, is not a worsening.
    ("weaker_side_attribute", "Known MS, stable for years. He limps, favouring his weaker left leg, and has a new mechanical backache.", []),
    ("leg_getting_weaker", "Known MS. His left leg is getting weaker by the day and now he trips on it.", ["progressive_neuro_deficit"]),
    # A bare 'degrees' is a temperature only with a temperature cue.
    ("slr_on_the_left", "Positive straight leg raise on the left at 40 degrees, power normal.", []),
    ("fever_degrees", "Back pain and a fever of 39 degrees since yesterday.", ["infection"]),
    # A sensory level as examined.
    ("sensory_level_exam", "Back pain. Exam: reduced pinprick below T8 bilaterally, legs stiff.", ["progressive_neuro_deficit"]),
    ("dermatome_normal", "Back pain. Exam: sensation intact to pinprick in all dermatomes, power 5/5.", []),
    # A negation does not reach a new clause of symptoms after a comma.
    ("negation_then_worse_at_night", "Known prostate cancer. Back pain 6 weeks, not related to activity, worse lying in bed at night.", ["malignancy"]),
    ("not_worse_at_night", "Known prostate cancer, in remission for 12 years. Back pain after digging, not worse at night.", []),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
