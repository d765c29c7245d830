"""Breadth of the policy's vocabularies: lay words, abbreviations, clinical shorthand and indirect
descriptions of each red flag, each with a near miss that must stay quiet (negated, historical,
stable, family, hypothetical or simply not the finding). One short sentence per wording family;
these are written from clinical knowledge, not taken from the blind rounds."""

from __future__ import annotations

import pytest
from safety_helpers import policy  # noqa: F401

from assistant.records import Turn
from assistant.safety import check_input


def cats(text, policy):
    return sorted({r.category for r in check_input([Turn("user", text)], policy).red_flags})


POSITIVES = [
    # --- cauda equina: saddle, bladder, bowel, anal tone ---------------------------------------
    ("saddle_lay", "She says she has had a numb bum since yesterday.", "cauda_equina"),
    ("saddle_paper", "Since Tuesday he can't feel the toilet paper when he wipes.", "cauda_equina"),
    ("saddle_sitting", "Sitting on the loo it feels numb, started this morning.", "cauda_equina"),
    ("anal_tone_pr", "PR: lax tone, reduced perianal sensation.", "cauda_equina"),
    ("anal_tone_abbrev", "On PR reduced anal tone and weak squeeze.", "cauda_equina"),
    ("anal_wink", "Absent anal wink on examination today.", "cauda_equina"),
    ("retention_abbrev", "Admitted with AUR and back pain, catheterised.", "cauda_equina"),
    ("retention_pu", "Not PU'd since 6am, lower back pain radiating to both legs.", "cauda_equina"),
    ("retention_palpable", "Palpable bladder to the umbilicus, painless.", "cauda_equina"),
    ("retention_lay", "He's been trying to have a wee all morning and nothing comes out.", "cauda_equina"),
    ("retention_catheter", "Back pain, and he needs a catheter now.", "cauda_equina"),
    ("incontinence_dribble", "Since yesterday he has been dribbling urine without realising.", "cauda_equina"),
    ("faecal_lay", "She pooed herself in the night and didn't notice.", "cauda_equina"),
    ("faecal_messed", "He messed himself on the way to the toilet, first time ever.", "cauda_equina"),
    ("faecal_wiping", "No feeling when wiping after opening her bowels.", "cauda_equina"),
    ("saddle_simile", "Since Monday it feels like I've had an injection down below.", "cauda_equina"),
    ("saddle_dentist", "Numb down there like after the dentist, started yesterday.", "cauda_equina"),
    ("retention_dribs", "Peeing in dribs and drabs since yesterday.", "cauda_equina"),
    ("erection_new", "Since last week he can't get an erection, back pain down both legs.", "cauda_equina"),
    ("incontinence_woke_wet", "Woke up wet this morning, never happened before.", "cauda_equina"),
    ("bladder_sensation", "Since Tuesday I can't feel when I'm having a wee.", "cauda_equina"),
    ("always_had_then_new", "He has always had a weak bladder and last night wet himself.", "cauda_equina"),
    # --- progressive neurological deficit --------------------------------------------------------
    ("legs_wobbly", "His legs have gone wobbly since Saturday.", "progressive_neuro_deficit"),
    ("legs_jelly", "Legs like jelly, started two days ago.", "progressive_neuro_deficit"),
    ("heel_walk", "Since Monday she can't walk on her heels.", "progressive_neuro_deficit"),
    ("legs_lead", "Legs feel like lead since this morning.", "progressive_neuro_deficit"),
    ("writing_spidery", "Handwriting has gone spidery this week.", "progressive_neuro_deficit"),
    ("foot_scuffing", "Since Monday she is scuffing her right foot.", "progressive_neuro_deficit"),
    ("kerb_tripping", "Keeps tripping on the kerb since last week.", "progressive_neuro_deficit"),
    ("lower_limb_abbrev", "New bilateral LL weakness over 48 hours.", "progressive_neuro_deficit"),
    ("lower_limb_us", "New RLE weakness this morning.", "progressive_neuro_deficit"),
    ("paraparesis", "New paraparesis on today's review.", "progressive_neuro_deficit"),
    ("hand_dropping", "Keeps dropping cups since yesterday.", "progressive_neuro_deficit"),
    ("hand_buttons", "Started fumbling with buttons this week.", "progressive_neuro_deficit"),
    ("upper_limb_abbrev", "New L UL weakness on exam today.", "progressive_neuro_deficit"),
    ("umn_new", "New clonus and upgoing plantars on today's exam.", "progressive_neuro_deficit"),
    ("sensory_level_lay", "Numb from the waist down since this morning.", "progressive_neuro_deficit"),
    # --- infection ---------------------------------------------------------------------------------
    ("sweats_sheets", "He has been soaking the sheets at night with back pain.", "infection"),
    ("sweats_woke", "Woke up wet through, back pain.", "infection"),
    ("fever_spiked", "Spiked a temp overnight, back pain.", "infection"),
    ("sweats_change", "Changing her pyjamas twice a night, back pain.", "infection"),
    ("rigors_teeth", "Teeth chattering, couldn't stop shaking last night, back pain.", "infection"),
    ("ivdu_iv_heroin", "Uses IV heroin, back pain, CRP 120.", "infection"),
    ("ivdu_groin", "Injects into his groin, back pain and CRP 90.", "infection"),
    ("ivdu_skin_popping", "Skin popping, back pain, WCC 15.", "infection"),
    ("immuno_abbrev", "On MTX for RA, back pain and CRP 140.", "infection"),
    ("immuno_mmf", "Renal transplant on MMF, CRP 130 with back pain.", "infection"),
    ("infection_lay_source", "Recent water infection, CRP 90, back pain.", "infection"),
    ("infection_line", "Has a PICC line, CRP 120, back pain.", "infection"),
    ("diabetes_abbrev", "DM2, CRP 160, back pain for a week.", "infection"),
    ("diabetes_metformin", "Takes metformin; raised CRP and back pain.", "infection"),
    ("spinal_collection", "MRI: epidural empyema at L3/4.", "infection"),
    # --- malignancy --------------------------------------------------------------------------------
    ("cancer_abbrev", "Hx of NSCLC, new thoracic back pain.", "malignancy"),
    ("cancer_site_abbrev", "Prostate ca on Zoladex, new back pain.", "malignancy"),
    ("cancer_treatment", "Had a mastectomy and radiotherapy in 2019, now new back pain.", "malignancy"),
    ("cancer_psa", "Rising PSA, back pain waking him at night.", "malignancy"),
    ("cancer_secondaries", "Told she has secondaries in her bones.", "malignancy"),
    ("cancer_macmillan", "Sees the Macmillan nurse; new upper back pain.", "malignancy"),
    ("cancer_lump", "Found a breast lump, and new pain between her shoulder blades.", "malignancy"),
    ("weight_sizes", "Dropped two dress sizes, pain wakes her at night.", "malignancy"),
    ("weight_gaunt", "Looks gaunt, skin and bone, constant back pain.", "malignancy"),
    ("weight_belt", "Down three notches on his belt, pain worse at night.", "malignancy"),
    ("weight_low_loa", "LOW/LOA, new back pain.", "malignancy"),
    ("night_pacing", "Pacing the floor at night with the pain, known breast cancer.", "malignancy"),
    ("night_upright", "Can't get comfy in bed at night with the pain; prostate cancer.", "malignancy"),
    ("thoracic_band", "Band-like pain around the chest, history of renal cancer.", "malignancy"),
    # --- fracture ----------------------------------------------------------------------------------
    ("fragility_hash", "Previous #NOF, lifted a suitcase yesterday and now sudden back pain.", "fracture"),
    ("fragility_wrist", "Broke her wrist last year from a trip; today sat down hard and severe back pain.", "fracture"),
    ("steroids_pred", "On pred for PMR, sudden back pain after bending down.", "fracture"),
    ("steroids_pred_dose", "Long-term pred 10mg; sneezed and felt a crack in her back.", "fracture"),
    ("minor_trauma_crack", "Heard something crack when she bent over, on alendronate.", "fracture"),
    ("height_lay", "On alendronate, she has shrunk 2 inches and has new back pain.", "fracture"),
    ("trauma_bike", "Came off his bike, osteoporosis, back pain.", "fracture"),
    ("trauma_tumble", "Had a tumble in the garden; on alendronate.", "fracture"),
    ("trauma_floor", "84F found on the floor by her carer, back pain.", "fracture"),
    ("age_decade", "In her late eighties, sudden back pain after a cough.", "fracture"),
]

NEGATIVES = [
    ("saddle_neg", "No numb bum, no trouble with wees."),
    ("anal_tone_normal", "PR: normal tone, perianal sensation intact."),
    ("retention_neg", "Passing urine normally, not catheterised, PU fine."),
    ("palpable_neg", "Bladder not palpable."),
    ("incontinence_stable", "Terminal dribbling for years, unchanged, known BPH."),
    ("faecal_hypothetical", "If he ever soils himself, he must come straight in."),
    ("faecal_family", "Her late mother had bowel incontinence in old age."),
    ("legs_heavy_stable", "Legs feel heavy after a long walk, same for years."),
    ("legs_wobbly_hypo", "Call us if his legs go wobbly or give way."),
    ("kerb_history", "Tripped on a kerb in 2015 and sprained his ankle."),
    ("paraparesis_stable", "Long-standing spastic paraparesis from MS, stable for years."),
    ("hand_stable", "Clumsy hands since her 2012 relapse, unchanged."),
    ("umn_stable", "Brisk reflexes and upgoing plantars, known MS, unchanged."),
    ("sensory_neg", "No numbness from the waist down."),
    ("injection_buttock", "Had an injection in her bottom for the pain."),
    ("bladder_sensation_stable", "MS, numb feet, and bladder urgency for years."),
    ("always_had", "Has always had a leaky bladder, nothing new."),
    ("safety_net_ring", "Ring 999 if she has numbness in her bottom."),
    ("care_team", "Bladder urgency managed by the continence team."),
    ("bladder_since_year", "Since 2015 she has bladder urgency."),
    ("weather_not_fever", "Back ache after gardening on a hot day."),
    ("frozen_shoulder", "Frozen shoulder, started last week."),
    ("hospital_iv_opioids", "Given IV opioids in ED, CRP 60, back pain."),
    ("writing_about", "I'm writing about my mum who feels weak and tired since Monday."),
    ("hrt", "On hormone therapy for the menopause, new back pain after gardening."),
    ("stairs_hurt", "Walking down the stairs hurts her back; on alendronate."),
    ("hot_cold_packs", "Try cold then hot packs on his back."),
    ("inhaled_steroids", "Steroid inhaler for asthma, sat down hard on a chair and back ache."),
    ("sweats_neg", "No night sweats, not soaking the sheets."),
    ("rigors_neg", "No shivering or teeth chattering."),
    ("picc_no_sign", "Has a PICC line for antibiotics; back ache after lifting."),
    ("erection_stable", "Cannot get an erection, for years, diabetic; back ache."),
    ("heels_stable", "Can't walk on her heels, known foot drop from 2010, unchanged."),
    ("rigors_cold", "Teeth chattering in the cold weather, back ache after gardening."),
    ("ivdu_hypothetical", "What would the red flags be if someone injects heroin?"),
    ("immuno_no_sign", "On MTX for RA, mechanical back pain after gardening."),
    ("diabetes_no_sign", "DM2 on metformin, back ache after moving house."),
    ("cancer_family", "Her mother had breast cancer; mechanical back pain."),
    ("cancer_screening", "Worried about cancer; back pain after lifting, improving."),
    ("psa_normal", "PSA normal last month; stiff back in the mornings."),
    ("weight_intended", "Lost two dress sizes on a diet, back pain after the gym."),
    ("night_fine", "Sleeps fine at night, pain only when bending."),
    ("fragility_hypo", "Worried she might break her hip if she falls."),
    ("steroids_short", "Had a short course of pred for asthma; stiff back after gardening."),
    ("trauma_old", "Came off his bike years ago; ache after sitting all day."),
    ("age_only", "In her eighties, chronic back ache for years, unchanged."),
]


@pytest.mark.parametrize("name,text,category", POSITIVES, ids=[p[0] for p in POSITIVES])
def test_wording_escalates(name, text, category, policy):
    assert category in cats(text, policy), text


@pytest.mark.parametrize("name,text", NEGATIVES, ids=[n[0] for n in NEGATIVES])
def test_near_miss_stays_quiet(name, text, policy):
    assert cats(text, policy) == [], text


# A measurement in its own sentence after another finding ("Diabetic. CRP 150."): a full stop
# before the cue does not hide the number; one between the cue and the number does.
@pytest.mark.parametrize("text,category", [
    ("Diabetic. CRP 150.", "infection"),
    ("Known IVDU; CRP 120.", "infection"),
    ("Back pain. Temp 38.9.", "infection"),
    ("On MTX. WCC 18.", "infection"),
])
def test_measurement_in_a_later_sentence(text, category, policy):
    assert category in cats(text, policy)


@pytest.mark.parametrize("text", ["Temp normal. 39 years old with back pain.", "CRP normal. 150 steps a day.",
                                  "Diabetic. CRP 12."])
def test_number_not_after_its_cue(text, policy):
    assert cats(text, policy) == []
