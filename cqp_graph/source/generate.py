"""Generate a referential folder in the data folder's format, for tests and benchmarks of several referentials.

Lives here: `generate_referential`, which returns the CSV files of a fictitious CQP with K missions,
deterministic from a seed, shaped like the shipped ones (missions and their activities, domains and their
coded competences, one block per domain with its units, requirements of each mission with the code and wording
as written, two assessment routes with their rules, evaluators, VAE steps and booklets, publication values),
as data: it writes nothing. Not here: writing them (`cqp-graph generate-referential`, `cqp_graph.cli`), reading
a folder (`tables`, `referential`), the RNCP export generator (`cqp_graph.exchange.rncp_generate`).

Every generated text is French and says it was generated; the RNCP number is fictitious (99100 and up, from the
seed). The folder builds and validates like a hand-written one: every competence is required by a mission,
every block certifies a domain and holds a unit.
"""

from __future__ import annotations

import csv
import io
import random

SECTION = "Référentiel généré (cqp-graph generate-referential)"
JOBS = (("Agent(e) de maintenance des équipements", "maintenance industrielle", "250"),
        ("Conseiller(ère) de vente en magasin", "commerce de détail", "312"),
        ("Opérateur(trice) de production alimentaire", "industrie alimentaire", "221"),
        ("Assistant(e) administratif(ve) et commercial(e)", "services aux entreprises", "324"),
        ("Préparateur(trice) de commandes", "logistique", "311"),
        ("Agent(e) d'accueil touristique", "tourisme", "334"))
VERBS = ("Préparer", "Contrôler", "Réaliser", "Organiser", "Suivre", "Accueillir", "Conseiller", "Entretenir",
         "Vérifier", "Renseigner", "Planifier", "Transmettre", "Appliquer", "Identifier", "Présenter", "Mettre à jour")
OBJECTS = ("le poste de travail", "les commandes des clients", "les documents de suivi", "les stocks", "les équipements",
           "les règles d'hygiène", "les consignes de sécurité", "le planning de l'équipe", "les réclamations",
           "les produits en rayon", "les informations techniques", "la qualité des produits", "le matériel",
           "les indicateurs de l'activité", "les demandes des usagers", "les opérations de caisse")
KNOW = ("Citer", "Décrire", "Expliquer", "Définir", "Connaître")
DOMAIN_NAMES = ("Relation client", "Organisation du travail", "Qualité et sécurité", "Technique du métier",
                "Gestion administrative", "Communication", "Environnement professionnel", "Outils numériques")

HEADERS = {
    "certification.csv": ["property", "value", "lang", "source_section", "source_lines"],
    "job-profile.csv": ["property", "value", "lang", "source_section", "source_lines"],
    "functional-relations.csv": ["code", "party", "role", "role_status", "source_section", "source_lines", "note"],
    "missions.csv": ["code", "label", "order", "source_section", "source_lines"],
    "activities.csv": ["code", "mission", "label", "source_section", "source_lines"],
    "domains.csv": ["code", "label", "order", "source_section", "source_lines"],
    "competences.csv": ["code", "kind", "domain", "label", "source_section", "source_lines"],
    "aptitudes.csv": ["code", "label", "order", "minted", "source_section", "source_lines", "note"],
    "requirements.csv": ["mission", "competence", "code_as_written", "label_as_written", "source_section",
                         "source_lines"],
    "blocks.csv": ["code", "label", "domain", "order", "minted", "source_section", "source_lines", "note"],
    "units.csv": ["code", "label", "block", "order", "minted", "unreadable_in", "source_section", "source_lines",
                  "note"],
    "routes.csv": ["code", "label", "order", "description", "attestation_validity", "validity_unlimited",
                   "source_section", "source_lines"],
    "evaluators.csv": ["code", "label", "heading", "description", "order", "source_section", "source_lines"],
    "rules.csv": ["code", "route", "scope", "gates", "evaluator", "min_percent", "basis", "label", "source_section",
                  "source_lines"],
    "settings.csv": ["code", "value", "allowed_values", "basis", "label", "source_section", "source_lines"],
    "publication.csv": ["code", "value", "basis", "label", "source_section", "source_lines"],
    "vae-steps.csv": ["code", "route", "order", "label", "evaluator", "evaluator_count", "booklets", "source_section",
                      "source_lines"],
    "booklets.csv": ["code", "label", "presence", "source_section", "source_lines", "note"],
}


def _csv(headers: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue()


def generate_referential(name: str, missions: int, seed: int = 0) -> dict[str, str]:
    """The CSV files (file name → text) of a generated referential named `name` with `missions` missions."""
    if missions < 1:
        raise ValueError(f"un référentiel a au moins une mission (demandé : {missions})")
    rng = random.Random(f"{name}-{seed}")
    job, sector, nsf = rng.choice(JOBS)
    line = iter(range(1, 10**6))
    src = lambda title: [f"{SECTION} — {title}", str(next(line))]  # noqa: E731 (section, its line)
    phrase = lambda: f"{rng.choice(VERBS)} {rng.choice(OBJECTS)}"  # noqa: E731
    files: dict[str, list[list]] = {table: [] for table in HEADERS}
    title = f"{job} ({name})"
    for prop, value, lang in (("title", title, "fr"), ("type", "Certificat de Qualification Professionnelle", "fr"),
                              ("abbreviation", "CQP", ""), ("sector", sector, "fr"),
                              ("rncp_number", str(99100 + seed % 800), ""), ("nsf_code", nsf, ""),
                              ("certifier", f"Commission paritaire fictive ({sector})", "fr"), ("language", "fr", ""),
                              ("source_document", f"Référentiel fictif généré par cqp-graph ({name}, graine {seed})",
                               "fr")):
        files["certification.csv"].append([prop, value, lang, *src("Certification")])
    files["job-profile.csv"] += [["title", job, "fr", *src("L’emploi")],
                                 ["purpose", f"{phrase()} et {phrase().lower()} dans le secteur {sector}.", "fr",
                                  *src("Finalité")],
                                 ["hierarchical_position", "Sous la responsabilité d’un responsable d’équipe", "fr",
                                  *src("Situation hiérarchique")]]
    files["functional-relations.csv"] += [["FR1", "Responsable d’équipe", "pilot", "certain", *src("Relations"), ""],
                                          ["FR2", "Clients", "client", "certain", *src("Relations"), ""]]
    domain_count = max(2, min(len(DOMAIN_NAMES), (missions + 1) // 2))
    domains = [f"D{chr(ord('A') + d)}" for d in range(domain_count)]  # letters: codes like DASF1
    competences: list[tuple[str, str]] = []  # (code, label)
    for order, code in enumerate(domains, start=1):
        files["domains.csv"].append([code, DOMAIN_NAMES[order - 1], order, *src("Codage des compétences")])
        for kind, count in (("C", rng.randint(1, 3)), ("SF", rng.randint(2, 4))):
            for k in range(1, count + 1):
                label = f"{rng.choice(KNOW)} {rng.choice(OBJECTS)}" if kind == "C" else phrase()
                label = f"{label} ({code}{kind}{k})"  # unique wording per competence
                competences.append((f"{code}{kind}{k}", label))
                files["competences.csv"].append([f"{code}{kind}{k}", kind, code, label, *src(f"Domaine {code}")])
    mission_codes = [f"M{m + 1}" for m in range(missions)]
    for order, code in enumerate(mission_codes, start=1):
        files["missions.csv"].append([code, f"{phrase()} (mission {order})", order, *src("Les missions")])
        for a in range(1, rng.randint(2, 3) + 1):
            files["activities.csv"].append([f"{code}A{a}", code, phrase(), *src("Les activités")])
    # every competence is required by one mission at least (round robin), plus a few drawn at random
    required: dict[str, set[int]] = {m: set() for m in mission_codes}
    for index in range(len(competences)):
        required[mission_codes[index % missions]].add(index)
    for m in mission_codes:
        required[m] |= set(rng.sample(range(len(competences)), min(2, len(competences))))
    for m in mission_codes:
        for index in sorted(required[m]):
            code, label = competences[index]
            files["requirements.csv"].append([m, code, code, label, *src(f"Page de la mission {m}")])
    files["aptitudes.csv"] += [["A1", "rigueur", 1, "true", *src("Aptitudes"),
                                "Code forgé par cqp-graph : la source ne code pas les aptitudes."],
                               ["A2", "sens du service", 2, "true", *src("Aptitudes"),
                                "Code forgé par cqp-graph : la source ne code pas les aptitudes."]]
    unit = 0
    for order, code in enumerate(domains, start=1):
        block = f"B{order}"
        files["blocks.csv"].append([block, f"{phrase()} ({DOMAIN_NAMES[order - 1].lower()})", code, order, "false",
                                    *src("Blocs de compétences"), ""])
        for _ in range(rng.randint(1, 2)):
            unit += 1
            files["units.csv"].append([f"UC{unit}", phrase(), block, unit, "false", "", *src("Unités"), ""])
    files["routes.csv"] += [
        ["alternance", "Par la voie de l’alternance", 1,
         "Le candidat est évalué en entreprise par son tuteur et, en fin de parcours, par un jury.", "", "",
         *src("Par la voie de l’alternance")],
        ["vae", "Par la voie de la VAE", 2, "La délivrance s’appuie sur un livret de preuves et un entretien.",
         "Chaque unité acquise reste valable cinq ans.", "false", *src("Par la voie de la VAE")]]
    files["evaluators.csv"] += [["tutor", "Tuteur", "L’évaluation en entreprise", "Le tuteur observe le candidat.", 1,
                                 *src("Évaluateurs")],
                                ["jury", "Jury", "L’évaluation finale", "Le jury interroge le candidat.", 2,
                                 *src("Évaluateurs")]]
    block_min, tutor_min, jury_min, know_min = (rng.choice(v) for v in ((50, 60, 70), (30, 40), (40, 45), (20, 25)))
    vae_block, vae_unit = rng.choice((60, 65, 70)), rng.choice((50, 55))
    files["rules.csv"] += [
        ["alternance-block", "alternance", "block", "block", "", block_min, "stated",
         f"Chaque bloc est acquis si le résultat du candidat atteint au moins {block_min} %.", *src("Règles")],
        ["alternance-block-tutor", "alternance", "block-evaluator", "block", "tutor", tutor_min, "stated",
         f"Pour chaque bloc, l’évaluation du tuteur ne peut être inférieure à {tutor_min} %.", *src("Règles")],
        ["alternance-block-jury", "alternance", "block-evaluator", "block", "jury", jury_min, "stated",
         f"Pour chaque bloc, l’évaluation du jury ne peut être inférieure à {jury_min} %.", *src("Règles")],
        ["alternance-know-how-tutor", "alternance", "know-how", "block", "tutor", know_min, "stated",
         f"Aucun savoir-faire évalué par le tuteur ne peut être inférieur à {know_min} %.", *src("Règles")],
        ["vae-block", "vae", "block", "block", "", vae_block, "stated",
         f"Par la voie de la VAE, chaque bloc est acquis si le résultat atteint au moins {vae_block} %.",
         *src("Règles")],
        ["vae-unit", "vae", "unit", "unit", "", vae_unit, "stated",
         f"Par la voie de la VAE, une unité est acquise si son résultat atteint au moins {vae_unit} %.",
         *src("Règles")]]
    files["settings.csv"].append(["block-score-aggregation", "min", "mean|min", "declared-choice",
                                  "Quand le résultat global d’un bloc n’est pas fourni, il est le plus faible des "
                                  "résultats des types d’évaluateurs notés (« min ») ; « mean » en ferait la moyenne.",
                                  *src("Règles")])
    files["publication.csv"] += [
        ["rncp-level", "NIV3", "declared-choice", "Niveau retenu pour ce référentiel généré.", *src("Publication")],
        ["eqf-level", "3", "declared-choice", "Niveau du cadre européen retenu pour ce référentiel généré.",
         *src("Publication")],
        ["nqf-level", "3", "declared-choice", "Niveau du cadre national retenu pour ce référentiel généré.",
         *src("Publication")],
        ["language", "FRA", "stated", "Le référentiel est rédigé en français.", *src("Publication")],
        ["data-licence", "https://spdx.org/licenses/etalab-2.0.html", "declared-choice",
         "Licence Ouverte / Open Licence 2.0 d’Etalab.", *src("Publication")],
        ["rights", "Texte fictif généré par cqp-graph : il n’appartient à aucun certificateur.", "declared-choice",
         "Déclaration de droits publiée avec le graphe (dct:rights).", *src("Publication")]]
    files["vae-steps.csv"] += [["livret", "vae", 1, "Le dépôt du livret de preuves", "", "", "P", *src("VAE")],
                               ["entretien", "vae", 2, "L’entretien avec le jury", "jury", 3, "", *src("VAE")]]
    files["booklets.csv"].append(["P", "Livret de preuves", "always", *src("VAE"), ""])
    return {table: _csv(HEADERS[table], rows) for table, rows in files.items()}

