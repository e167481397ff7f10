"""Generate an RNCP / RS export shaped like France Compétences' (flux 4.1), for benchmarks and tests.

Lives here: `generate_rncp`, which writes N fiches deterministically from a seed, streaming (each fiche written
and dropped before the next; the file is written beside its target, then renamed), and the vocabulary it draws
its French texts from. Not here: reading an export (`rncp_import`), the referential generator
(`cqp_graph.source.generate`).

What a generated export holds, as the real extracts of ../shared/rncp do: RNCP fiches (about four in five) with
competence blocks (`RNCPnnnnnBCnn`, a label, a competence list written with item codes "A1C1.", with dash
bullets or as plain sentences, assessment modalities), RS fiches without blocks, ROME codes, NSF codes,
formacodes, certifiers drawn from a shared pool (14-digit SIRET, a few without one), the six jury elements
(`SI_JURY_FI` … `SI_JURY_VAE`, each open or not, with a composition), partners, long descriptive texts, dates,
levels (NIV3…NIV7), active and inactive fiches, and lineage: chains of fiches where each replaces the one
before (`ANCIENNES_CERTIFICATIONS` / `NOUVELLES_CERTIFICATIONS` on both sides, the replaced fiche inactive),
some replacing numbers outside the file, and block correspondences from a fiche's blocks to its predecessor's.
"""

from __future__ import annotations

import os
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from xml.sax.saxutils import escape

ROUTES = ("SI_JURY_FI", "SI_JURY_CA", "SI_JURY_FC", "SI_JURY_CQ", "SI_JURY_CL", "SI_JURY_VAE")
ROME = ("D1401", "D1402", "D1403", "D1406", "D1407", "D1408", "D1409", "D1432", "M1101", "M1102", "M1203",
        "M1205", "M1302", "M1402", "M1403", "M1503", "M1602", "M1607", "M1705", "M1707", "M1801", "M1805",
        "M1806", "N1103", "N1301", "N1303", "H1206", "H1502", "H2502", "J1502", "K1206", "K2111", "G1402")
NSF = (("310", "Spécialités plurivalentes des échanges et de la gestion"), ("311", "Transport, manutention, magasinage"),
       ("312", "Commerce, vente"), ("312m", "Commerce, vente (organisation, gestion)"),
       ("313", "Finances, banque, assurances, immobilier"), ("314", "Comptabilité, gestion"),
       ("315", "Ressources humaines, gestion du personnel, gestion de l'emploi"), ("320", "Spécialités plurivalentes de la communication"),
       ("326", "Informatique, traitement de l'information, réseaux de transmission"), ("221", "Agro-alimentaire, alimentation, cuisine"),
       ("331", "Santé"), ("335", "Animation culturelle, sportive et de loisirs"))
FORMACODES = (("34254", "Commerce international"), ("32054", "Gestion des organisations"), ("32139", "Management situationnel"),
              ("34054", "Gestion commerciale achats"), ("32654", "Gestion financière comptabilité"),
              ("31054", "Informatique"), ("42866", "Relation client"), ("31408", "Logistique"), ("21054", "Agroalimentaire"))
LEVELS = ("NIV3", "NIV4", "NIV5", "NIV6", "NIV7")
VERBS = ("Analyser", "Concevoir", "Piloter", "Évaluer", "Organiser", "Conduire", "Mettre en œuvre", "Accompagner",
         "Coordonner", "Contrôler", "Élaborer", "Négocier", "Planifier", "Animer", "Diagnostiquer", "Proposer",
         "Rédiger", "Superviser", "Optimiser", "Recueillir", "Sécuriser", "Gérer", "Conseiller", "Former")
OBJECTS = ("la relation client", "un projet de transformation", "les ressources humaines de l'équipe",
           "le budget de l'activité", "la chaîne logistique", "une démarche qualité", "les risques opérationnels",
           "la stratégie commerciale", "un plan de communication", "les données de gestion", "un système d'information",
           "la sécurité des personnes et des biens", "la production alimentaire", "les achats et les approvisionnements",
           "la conformité réglementaire", "un service après-vente", "les indicateurs de performance",
           "une offre de formation", "les commandes des clients", "la veille concurrentielle", "un dispositif de soins",
           "les stocks de l'entrepôt", "une équipe pluridisciplinaire", "les réclamations des clients")
CONTEXTS = ("en tenant compte des contraintes économiques", "dans le respect des règles d'hygiène et de sécurité",
            "à l'aide des outils numériques adaptés", "en lien avec les parties prenantes",
            "afin d'améliorer la performance collective", "selon les procédures de l'entreprise",
            "en intégrant les enjeux de développement durable", "en vue d'anticiper les évolutions du marché",
            "dans une démarche d'amélioration continue", "en veillant à l'accessibilité des personnes en situation de handicap")
DOMAINS = ("management", "commerce", "logistique", "gestion", "informatique", "ressources humaines", "santé",
           "industrie agroalimentaire", "communication", "finance")
TITLES = ("Manager", "Responsable", "Chargé(e)", "Assistant(e)", "Technicien(ne) supérieur(e)", "Conseiller(ère)",
          "Gestionnaire", "Chef de projet", "Expert(e)", "Coordinateur(trice)")
MODALITIES = ("Mise en situation professionnelle reconstituée", "Étude de cas écrite", "Soutenance orale devant un jury",
              "Dossier professionnel", "Évaluation en entreprise par le tuteur", "Questionnaire de connaissances",
              "Projet collectif avec rapport individuel")
ORGANISATIONS = ("ÉCOLE SUPÉRIEURE", "INSTITUT", "CENTRE DE FORMATION", "ASSOCIATION", "CHAMBRE DE COMMERCE ET D'INDUSTRIE",
                 "MINISTÈRE", "GROUPEMENT", "UNIVERSITÉ", "COMMISSION PARITAIRE NATIONALE DE L'EMPLOI")
CITIES = ("PARIS", "LYON", "GRENOBLE", "NANTES", "LILLE", "BORDEAUX", "RENNES", "TOULOUSE", "DIJON", "STRASBOURG")


@dataclass
class GeneratedExport:
    """What was written: counts a test or a benchmark can check against the file."""

    fiches: int = 0
    rncp: int = 0
    rs: int = 0
    blocks: int = 0
    active: int = 0
    replaced: int = 0
    bytes: int = 0
    itemisation: dict = field(default_factory=dict)


def _e(text: str) -> str:
    return escape(text)


class _Writer:
    """One fiche's XML text, indented like the real export."""

    def __init__(self):
        self.parts: list[str] = []

    def leaf(self, depth: int, tag: str, value) -> None:
        self.parts.append(f"{'  ' * depth}<{tag}>{_e(str(value))}</{tag}>\n")

    def open(self, depth: int, tag: str) -> None:
        self.parts.append(f"{'  ' * depth}<{tag}>\n")

    def close(self, depth: int, tag: str) -> None:
        self.parts.append(f"{'  ' * depth}</{tag}>\n")

    def text(self) -> str:
        return "".join(self.parts)


class RncpGenerator:
    """The fiches of one export, in order; deterministic from `seed`."""

    def __init__(self, fiches: int, seed: int):
        self.count = fiches
        self.rng = random.Random(seed)
        plan = random.Random(f"{seed}-plan")
        # kinds and lineage decided first (a few bytes per fiche): fiche i replaces fiche i-1 when both are of
        # the same kind and the draw says so, which makes chains of successive versions
        self.kinds = ["RS" if plan.random() < 0.2 else "RNCP" for _ in range(fiches)]
        self.replaces_previous = [i > 0 and self.kinds[i] == self.kinds[i - 1] and plan.random() < 0.3
                                  for i in range(fiches)]
        self.certifiers = [self._certifier(plan, k) for k in range(max(4, fiches // 6))]

    @staticmethod
    def _certifier(rng: random.Random, k: int) -> tuple[str | None, str, str]:
        name = f"{rng.choice(ORGANISATIONS)} {rng.choice(DOMAINS).upper()} DE {rng.choice(CITIES)} {k + 1}"
        siret = None if rng.random() < 0.05 else f"{rng.randrange(10**13, 10**14)}"
        return siret, name, "Inactif" if rng.random() < 0.1 else "Actif"

    def number(self, index: int) -> str:
        return f"RNCP{30000 + index}" if self.kinds[index] == "RNCP" else f"RS{5000 + index}"

    def sentence(self) -> str:
        rng = self.rng
        return f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(CONTEXTS)}"

    def paragraph(self, sentences: int) -> str:
        return " ".join(f"{self.sentence()}." for _ in range(sentences))

    def competence_list(self, block: int) -> tuple[str, str]:
        rng = self.rng
        style = rng.choices(("codes", "bullets", "none"), weights=(5, 3, 2))[0]
        count = rng.randint(2, 7)
        if style == "codes":
            dotted = rng.random() < 0.3
            items = [f"A{block}{'.' if dotted else ''}C{k}. {self.sentence()}" for k in range(1, count + 1)]
            preamble = "En mobilisant une analyse du contexte de l'organisation :    " if rng.random() < 0.2 else ""
            return style, preamble + "       ".join(items)
        if style == "bullets":
            return style, "  ".join(f"- {self.sentence()}" for _ in range(count))
        return style, "  ".join(self.sentence() for _ in range(count))

    def date(self, start_year: int, end_year: int) -> str:
        rng = self.rng
        return f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(start_year, end_year)}"

    def fiche(self, index: int, out: GeneratedExport) -> str:
        rng, w = self.rng, _Writer()
        number, kind = self.number(index), self.kinds[index]
        replaced_by_next = index + 1 < self.count and self.replaces_previous[index + 1]
        active = not replaced_by_next and rng.random() < 0.75
        w.open(1, "FICHE")
        w.leaf(2, "ID_FICHE", 10000 + index)
        w.leaf(2, "NUMERO_FICHE", number)
        if replaced_by_next:
            w.open(2, "NOUVELLES_CERTIFICATIONS")
            w.open(3, "NOUVELLE_CERTIFICATION")
            w.leaf(4, "ID_FICHE_NOUVELLE_CERTIFICATION", self.number(index + 1))
            w.close(3, "NOUVELLE_CERTIFICATION")
            w.close(2, "NOUVELLES_CERTIFICATIONS")
        older = []
        if self.replaces_previous[index]:
            older.append(self.number(index - 1))
        if rng.random() < 0.25:  # a version older than the file: a number that is not in it
            older.append(f"{kind}{rng.randint(1000, 4999)}")
        if older:
            w.open(2, "ANCIENNES_CERTIFICATIONS")
            for other in older:
                w.open(3, "ANCIENNE_CERTIFICATION")
                w.leaf(4, "ID_FICHE_ANCIENNE_CERTIFICATION", other)
                w.close(3, "ANCIENNE_CERTIFICATION")
            w.close(2, "ANCIENNES_CERTIFICATIONS")
        domain = rng.choice(DOMAINS)
        w.leaf(2, "INTITULE", f"{rng.choice(TITLES)} en {domain} – {rng.choice(OBJECTS)} (version {index + 1})")
        if kind == "RNCP" and rng.random() < 0.6:
            w.open(2, "ABREGE")
            w.leaf(3, "CODE", rng.choice(("TP", "BTS", "DipViGrM", "CQP", "TH")))
            w.leaf(3, "LIBELLE", rng.choice(("Titre professionnel", "Brevet de technicien supérieur",
                                             "Diplôme visé grade de master", "Titre homologué")))
            w.close(2, "ABREGE")
        w.leaf(2, "ETAT_FICHE", "Publiée" if rng.random() < 0.9 else "Modifications à valider")
        w.open(2, "FORMACODES")
        for code, label in rng.sample(FORMACODES, rng.randint(1, 4)):
            w.open(3, "FORMACODE")
            w.leaf(4, "CODE", code)
            w.leaf(4, "LIBELLE", label)
            w.close(3, "FORMACODE")
        w.close(2, "FORMACODES")
        if kind == "RNCP":
            level = rng.choice(LEVELS)
            w.open(2, "NOMENCLATURE_EUROPE")
            w.leaf(3, "NIVEAU", level)
            w.leaf(3, "LIBELLE", f"Niveau {level[3:]}")
            w.close(2, "NOMENCLATURE_EUROPE")
        w.open(2, "CODES_NSF")
        for code, label in rng.sample(NSF, rng.randint(1, 3)):
            w.open(3, "NSF")
            w.leaf(4, "CODE", code)
            w.leaf(4, "LIBELLE", label)
            w.close(3, "NSF")
        w.close(2, "CODES_NSF")
        w.open(2, "CERTIFICATEURS")
        for siret, name, state in rng.sample(self.certifiers, rng.choice((1, 1, 1, 2, 3))):
            w.open(3, "CERTIFICATEUR")
            if siret:
                w.leaf(4, "SIRET_CERTIFICATEUR", siret)
            w.leaf(4, "NOM_CERTIFICATEUR", name)
            w.leaf(4, "ETAT_CERTIFICATEUR", state)
            w.leaf(4, "DATE_DERNIERE_MODIFICATION_ETAT", self.date(2019, 2024))
            if rng.random() < 0.1:
                w.leaf(4, "SITE_INTERNET", f"https://www.certificateur-{rng.randint(1, 999)}.example.fr/")
            w.close(3, "CERTIFICATEUR")
        w.close(2, "CERTIFICATEURS")
        partners = rng.random() < 0.7
        w.leaf(2, "EXISTENCE_PARTENAIRES", "Oui" if partners else "Non")
        if partners:
            w.open(2, "PARTENAIRES")
            for _ in range(int(rng.expovariate(1 / 140)) + 1):
                w.open(3, "PARTENAIRE")
                w.leaf(4, "NOM_PARTENAIRE", f"{rng.choice(ORGANISATIONS)} {rng.choice(CITIES)} {rng.randint(1, 999)}")
                w.leaf(4, "SIRET_PARTENAIRE", rng.randrange(10**13, 10**14))
                w.leaf(4, "HABILITATION_PARTENAIRE", "HABILITATION_ORGA_FORM")
                w.leaf(4, "ETAT_HABILITATION", "Actif")
                if rng.random() < 0.1:
                    w.leaf(4, "DATE_ACTIF", self.date(2019, 2024))
                w.leaf(4, "DATE_DERNIERE_MODIFICATION_ETAT", self.date(2019, 2024))
                w.close(3, "PARTENAIRE")
            w.close(2, "PARTENAIRES")
        if kind == "RNCP":
            w.leaf(2, "ACTIVITES_VISEES", self.paragraph(rng.randint(8, 40)))
        w.leaf(2, "CAPACITES_ATTESTEES", self.paragraph(rng.randint(6, 30)))
        if kind == "RNCP":
            w.leaf(2, "SECTEURS_ACTIVITE", self.paragraph(rng.randint(1, 6)))
            w.leaf(2, "TYPE_EMPLOI_ACCESSIBLES", self.paragraph(rng.randint(1, 5)))
            w.open(2, "CODES_ROME")
            for code in rng.sample(ROME, rng.randint(1, 5)):
                w.open(3, "ROME")
                w.leaf(4, "CODE", code)
                w.leaf(4, "LIBELLE", f"Métiers de {rng.choice(DOMAINS)}")
                w.close(3, "ROME")
            w.close(2, "CODES_ROME")
        if rng.random() < 0.3:
            w.leaf(2, "REGLEMENTATIONS_ACTIVITES", self.paragraph(rng.randint(1, 4)))
        composition = self.paragraph(rng.randint(1, 3))
        for route in ROUTES:
            if kind == "RS" and route == "SI_JURY_CA":
                continue
            w.open(2, route)
            if rng.random() < 0.1:
                w.leaf(3, "DATE_DERNIERE_MODIFICATION", self.date(2020, 2024))
            is_open = rng.random() < 0.6
            w.leaf(3, "ACTIF", "Oui" if is_open else "Non")
            if is_open or rng.random() < 0.3:
                w.leaf(3, "COMPOSITION", composition)
            w.close(2, route)
        w.leaf(2, "ACCESSIBLE_NOUVELLE_CALEDONIE", "Non")
        w.leaf(2, "ACCESSIBLE_POLYNESIE_FRANCAISE", "Non")
        for decree in ("PUBLICATION_DECRET_GENERAL", "PUBLICATION_DECRET_CREATION", "PUBLICATION_DECRET_AUTRE"):
            if rng.random() < (0.6 if kind == "RNCP" else 0.1):
                w.open(2, decree)
                for _ in range(rng.randint(1, 2)):
                    w.open(3, "PUBLICATION_JO")
                    w.leaf(4, "TITRE", f"Arrêté du {self.date(2010, 2024)} relatif au titre de {rng.choice(TITLES)} "
                                       f"en {domain}")
                    if rng.random() < 0.9:
                        w.leaf(4, "DATE_PUBLICATION_JO", self.date(2010, 2024))
                    w.close(3, "PUBLICATION_JO")
                w.close(2, decree)
        if rng.random() < 0.1:
            w.leaf(2, "DATE_DERNIER_JO", self.date(2015, 2024))
        if rng.random() < 0.5:
            w.leaf(2, "DATE_DECISION", self.date(2018, 2024))
            w.leaf(2, "DUREE_ENREGISTREMENT", rng.choice((2, 3, 5)))
        if rng.random() < 0.5:
            w.open(2, "STATISTIQUES_PROMOTIONS")
            for year in range(2019, 2019 + rng.randint(1, 4)):
                w.open(3, "STATISTIQUES_PROMOTION")
                w.leaf(4, "ANNEE", year)
                w.leaf(4, "NOMBRE_CERTIFIES", rng.randint(1, 900))
                if kind == "RNCP":
                    w.leaf(4, "NOMBRE_CERTIFIES_VAE", rng.randint(0, 40))
                    w.leaf(4, "TAUX_INSERTION_GLOBAL_6MOIS", rng.randint(40, 100))
                    if rng.random() < 0.8:
                        w.leaf(4, "TAUX_INSERTION_METIER_2ANS", rng.randint(30, 100))
                w.close(3, "STATISTIQUES_PROMOTION")
            w.close(2, "STATISTIQUES_PROMOTIONS")
        if rng.random() < 0.5:
            w.leaf(2, "LIEN_URL_DESCRIPTION", f"https://www.organisme-{rng.randint(1, 9999)}.example.fr/formation")
        w.leaf(2, "DATE_FIN_ENREGISTREMENT", self.date(2023, 2030))
        if rng.random() < 0.6:
            w.leaf(2, "DATE_EFFET", self.date(2018, 2024))
        if kind == "RNCP" and rng.random() < 0.05:
            w.open(2, "ANNEES_PROMOTIONS_NIVEAU")
            for year in sorted(rng.sample(range(2015, 2024), 2)):
                w.leaf(3, "ANNEE", year)
            w.close(2, "ANNEES_PROMOTIONS_NIVEAU")
        w.leaf(2, "TYPE_ENREGISTREMENT", rng.choice(("Enregistrement sur demande", "Enregistrement de droit")))
        blocks = []
        if kind == "RNCP":
            w.open(2, "BLOCS_COMPETENCES")
            for rank in range(1, rng.randint(2, 6) + 1):
                code = f"{number}BC{rank:02d}"
                blocks.append(code)
                style, listed = self.competence_list(rank)
                out.itemisation[style] = out.itemisation.get(style, 0) + 1
                w.open(3, "BLOC_COMPETENCES")
                w.leaf(4, "CODE", code)
                w.leaf(4, "LIBELLE", f"{rng.choice(VERBS)} {rng.choice(OBJECTS)}")
                w.leaf(4, "LISTE_COMPETENCES", listed)
                w.leaf(4, "MODALITES_EVALUATION", f"{rng.choice(MODALITIES)}. {self.paragraph(rng.randint(1, 4))}")
                w.close(3, "BLOC_COMPETENCES")
            w.close(2, "BLOCS_COMPETENCES")
            out.blocks += len(blocks)
        w.leaf(2, "OBJECTIFS_CONTEXTE", self.paragraph(rng.randint(3, 12)))
        if kind == "RS":
            if rng.random() < 0.2:
                w.leaf(2, "NIVEAU_MAITRISE_COMPETENCES", "sans objet")
            w.leaf(2, "VALIDATION_PARTIELLE", "Non")
        w.leaf(2, "ACTIF", "Oui" if active else "Non")
        w.leaf(2, "PREREQUIS_ENTREE_FORMATION", self.paragraph(rng.randint(1, 4)))
        if kind == "RS" and rng.random() < 0.1:
            w.leaf(2, "PREREQUIS_VALIDATION_CERTIFICATION", self.paragraph(2))
        if rng.random() < 0.5:
            w.leaf(2, "DATE_DE_PUBLICATION", self.date(2018, 2024))
        if rng.random() < 0.2:
            w.leaf(2, "DATE_LIMITE_DELIVRANCE", self.date(2024, 2031))
        if blocks and self.replaces_previous[index] and self.kinds[index - 1] == "RNCP":
            previous = self.number(index - 1)
            w.open(2, "CORRESPONDANCES")
            for rank, code in enumerate(blocks, start=1):
                w.open(3, "CORRESPONDANCE")
                w.open(4, "SOURCE")
                w.open(5, "BLOC_COMPETENCES")
                w.leaf(6, "CODE", code)
                w.close(5, "BLOC_COMPETENCES")
                w.close(4, "SOURCE")
                w.open(4, "DESTINATION")
                w.leaf(5, "NUMERO_FICHE", previous)
                w.open(5, "BLOC_COMPETENCES")
                w.leaf(6, "CODE", f"{previous}BC{rank:02d}")
                w.close(5, "BLOC_COMPETENCES")
                w.close(4, "DESTINATION")
                w.close(3, "CORRESPONDANCE")
            w.close(2, "CORRESPONDANCES")
        w.close(1, "FICHE")
        out.fiches += 1
        out.rncp += kind == "RNCP"
        out.rs += kind == "RS"
        out.active += active
        out.replaced += replaced_by_next
        return w.text()


def generate_rncp(output: Path, fiches: int, seed: int = 0,
                  on_fiche: Callable[[int], None] | None = None) -> GeneratedExport:
    """Write `fiches` generated fiches to `output` (beside it first, then renamed); `on_fiche(1)` after each."""
    from cqp_graph.publish.atomic import file_mode, fsync_folder

    if fiches < 0:
        raise ValueError(f"nombre de fiches négatif : {fiches}")
    generator = RncpGenerator(fiches, seed)
    summary = GeneratedExport()
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<FICHES>\n  <VERSION_FLUX>4.1</VERSION_FLUX>\n')
            for index in range(fiches):
                out.write(generator.fiche(index, summary))
                if on_fiche:
                    on_fiche(1)
            out.write("</FICHES>\n")
            out.flush()
            os.fsync(out.fileno())
            summary.bytes = out.tell()
        os.replace(tmp, output)
        fsync_folder(output.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return summary
