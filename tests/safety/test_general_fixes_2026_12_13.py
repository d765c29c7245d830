"""General fixes of policy 2026.12.13, each with a positive and a near miss written for this file
(not copied from the blind rounds): body temperature versus joint angles, screening lists answered
in the negative, high-energy trauma, non-metastasising skin cancers, lost motor abilities, dated
episodes, self-catheterised retention, lay retention and sexual-function wording, bilateral leg
pain in regional terms, steroid courses over a stated span, pain unlike the usual one."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401


EXACT = [
    # Temperature must be a body temperature: a range of movement or SLR angle in degrees is not.
    ("angle_hip", "Hip flexion R 100 degrees, L 110 degrees, pain on extension.", []),
    ("angle_slr_side", "SLR right 40 degrees, left 70 degrees.", []),
    ("angle_of_flexion", "Only 40 degrees of flexion at the knee after the op.", []),
    ("temp_degrees", "Back pain and her temp was 39 degrees last night.", ["infection"]),
    # A screening list answered in the negative.
    ("screen_list_negative", "Back pain after gardening.\n- Fever/sweats/rigors: denies\n- Wt loss: denies\n- IVDU: never\n- Osteoporosis: no\n- Trauma: no fall", []),
    ("screen_list_positive", "Back pain for a week.\n- Fever/sweats/rigors: yes, sweats every night\n- IVDU: injects heroin", ["infection"]),
    ("pathway_named", "Assessed per the cauda equina pathway proforma: saddle sensation normal, bladder normal.", []),
    # High-energy trauma escalates fracture on its own, at any age.
    ("fall_from_height", "Fell from the scaffold at work, about 3 metres, now sore across the lower back.", ["fracture"]),
    ("road_collision", "22F, car vs lorry at 40mph, back pain, walking.", ["fracture"]),
    ("horse", "She came off her horse yesterday and her mid back is sore.", ["fracture"]),
    ("spine_not_cleared", "Post-RTC, thoracic spine not yet cleared, awaiting CT.", ["fracture"]),
    ("remote_fall_height", "He fell off a roof in 1998 and has had no back trouble since.", []),
    ("ladder_hypothetical", "If he fell off a ladder, would he need an X-ray?", []),
    # Dangerous mechanisms (NICE NG41): a fall down a flight of stairs, a road collision.
    ("stairs_fall", "Tumbled down a flight of stairs last night, 81, now severe pain in the lower back.", ["fracture"]),
    ("rta_driver", "Driver in an RTA this morning, now midline lumbar pain.", ["fracture"]),
    # A minor slip with back pain in someone without fragile bone is not a fracture red flag.
    ("minor_slip_young", "31M plumber, slipped on a wet floor at work 3 days ago, now acute low back pain, walking normally.", []),
    ("minor_slip_steroids", "On prednisolone for years; slipped on a wet floor, now sudden back pain.", ["fracture"]),
    # A bare ': no' or ': none' needs an end: it does not negate across a note without full stops.
    ("bare_no_no_reach", "Back pain for 3 days. Saddle numbness since this morning REPEAT REVIEW: No", ["cauda_equina"]),
    # What a drug should not do, and the heat-related worsening of MS symptoms, are not new deficits.
    ("wont_make_weaker", "He would like something for the spasms that won't make his legs weaker.", []),
    ("heat_weaker", "My legs feel weaker when I get hot on a run, then it settles when I cool down.", []),
    ("new_weaker_hot", "Legs have become weaker over the last week and she is now falling, worse when hot.", ["progressive_neuro_deficit"]),
    # A non-metastasising skin cancer is not a cancer history for malignancy.
    ("bcc_history", "Recent back pain. Had a BCC removed from his cheek in 2015.", []),
    ("melanoma_history", "Recent back pain. Had a melanoma removed from his back in 2015.", ["malignancy"]),
    # A motor ability lost.
    ("calf_raise_lost", "Since the weekend she can no longer do calf raises on the right.", ["progressive_neuro_deficit"]),
    ("needs_two_people", "This morning he needed two people to get him up from the sofa.", ["progressive_neuro_deficit"]),
    ("calf_raise_can", "She can do 15 single-leg calf raises on each side.", []),
    # A dated past episode described with 'when' is history to the end of its sentence.
    ("dated_relapse", "Her relapse was in 2011, when she developed weakness of the left leg and a sensory level.", []),
    ("dated_then_new", "Her relapse was in 2011. Since yesterday she has new weakness of the left leg.", ["progressive_neuro_deficit"]),
    # Retention managed by self-catheterisation is the known problem, not a new one.
    ("isc_known", "She does ISC three times a day because of incomplete emptying, residuals around 300 mL.", []),
    ("retention_new", "Since this morning she has incomplete emptying, residual 450 mL on the scanner.", ["cauda_equina"]),
    # Lay retention, sexual function, bilateral pain in regional terms.
    ("no_wee_hours", "My partner (47) hasn't had a wee since yesterday, about 16 hours, and he has bad back pain.", ["cauda_equina"]),
    ("no_urge", "Back pain down both legs and he doesn't even feel like he needs to go.", ["cauda_equina"]),
    ("erection_lost", "Pain in both buttocks; he hasn't been able to get an erection since the weekend.", ["cauda_equina"]),
    ("bilat_thigh", "Now bilat thigh pain and his bladder feels different this week.", ["cauda_equina"]),
    # Steroids over a stated span are long-term steroids (fracture with a minor strain).
    ("steroid_span", "On prednisolone 10mg for the past 3 years; lifted a box and felt sudden back pain.", ["fracture"]),
    ("steroid_short", "Had prednisolone 40mg for 5 days last month for asthma; lifted a box yesterday.", []),
    # A pain unlike the usual one, at rest at night, with a cancer history.
    ("pain_unlike_usual", ["Any stretches for my back?",
                           "I had breast cancer in 2016. This ache is nothing like my usual back pain and it's there even when I'm lying still at night."],
     ["malignancy"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
