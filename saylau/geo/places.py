"""Real Kazakhstan cities and towns, used to place synthetic polling stations.

Reference data: coordinates are approximate town centres (WGS 84, rounded to ~0.01 degree)
and populations are rounded recent estimates. They only need to be good enough that
synthetic stations cluster where people live. Each point is checked to lie inside its
declared region polygon (tests/geo/test_registry.py), so a coastal or border town may be
nudged slightly inland.

The three cities of republican significance (Almaty, Astana, Shymkent) are regions of
their own, so they are listed by city district: that gives each of them several
clusters and a meaningful `district` for their stations.
"""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd


class Place(NamedTuple):
    name: str
    region_code: str
    lat: float
    lon: float
    population: int
    # Empty means "<name> district", which is how towns outside the big cities are handled.
    district: str = ""


PLACES: tuple[Place, ...] = (
    # KAZ001 Abay Region (capital Semey)
    Place("Semey", "KAZ001", 50.41, 80.23, 350_000),
    Place("Kurchatov", "KAZ001", 50.76, 78.54, 10_000),
    Place("Ayagoz", "KAZ001", 47.96, 80.44, 40_000),
    Place("Urzhar", "KAZ001", 47.09, 81.63, 15_000),
    Place("Shar", "KAZ001", 49.59, 81.05, 7_000),
    # KAZ002 Akmola Region (capital Kokshetau)
    Place("Kokshetau", "KAZ002", 53.28, 69.40, 180_000),
    Place("Stepnogorsk", "KAZ002", 52.35, 71.89, 48_000),
    Place("Shchuchinsk", "KAZ002", 52.94, 70.19, 45_000),
    Place("Atbasar", "KAZ002", 51.81, 68.36, 27_000),
    Place("Makinsk", "KAZ002", 52.63, 70.42, 17_000),
    Place("Akkol", "KAZ002", 52.00, 70.95, 13_000),
    Place("Yesil", "KAZ002", 51.96, 66.40, 10_000),
    Place("Ereymentau", "KAZ002", 51.62, 73.10, 9_000),
    # KAZ003 Aktobe Region (capital Aktobe)
    Place("Aktobe", "KAZ003", 50.28, 57.17, 550_000),
    Place("Khromtau", "KAZ003", 50.25, 58.45, 27_000),
    Place("Kandyagash", "KAZ003", 49.47, 57.42, 30_000),
    Place("Alga", "KAZ003", 49.90, 57.33, 20_000),
    Place("Shalkar", "KAZ003", 47.83, 59.62, 28_000),
    Place("Emba", "KAZ003", 48.83, 58.15, 13_000),
    # KAZ004 Almaty (city of republican significance)
    Place("Almaty", "KAZ004", 43.26, 76.92, 230_000, "Almaly district"),
    Place("Almaty", "KAZ004", 43.23, 76.98, 220_000, "Medeu district"),
    Place("Almaty", "KAZ004", 43.21, 76.91, 370_000, "Bostandyk district"),
    Place("Almaty", "KAZ004", 43.23, 76.85, 310_000, "Auezov district"),
    Place("Almaty", "KAZ004", 43.28, 76.83, 320_000, "Alatau district"),
    Place("Almaty", "KAZ004", 43.33, 76.96, 240_000, "Turksib district"),
    Place("Almaty", "KAZ004", 43.29, 76.92, 190_000, "Zhetysu district"),
    Place("Almaty", "KAZ004", 43.19, 76.80, 140_000, "Nauryzbay district"),
    # KAZ005 Almaty Region (capital Konaev)
    Place("Konaev", "KAZ005", 43.87, 77.07, 65_000),
    Place("Kaskelen", "KAZ005", 43.20, 76.62, 80_000),
    Place("Talgar", "KAZ005", 43.30, 77.24, 50_000),
    Place("Esik", "KAZ005", 43.36, 77.45, 40_000),
    Place("Uzynagash", "KAZ005", 43.22, 76.31, 35_000),
    Place("Shelek", "KAZ005", 43.59, 78.25, 35_000),
    Place("Kegen", "KAZ005", 42.98, 79.22, 10_000),
    Place("Shonzhy", "KAZ005", 43.53, 79.47, 20_000),
    # KAZ006 Astana (city of republican significance)
    Place("Astana", "KAZ006", 51.15, 71.50, 420_000, "Almaty district"),
    Place("Astana", "KAZ006", 51.19, 71.41, 370_000, "Saryarka district"),
    Place("Astana", "KAZ006", 51.11, 71.42, 300_000, "Yesil district"),
    Place("Astana", "KAZ006", 51.17, 71.45, 260_000, "Baikonur district"),
    Place("Astana", "KAZ006", 51.07, 71.38, 120_000, "Nura district"),
    # KAZ007 Atyrau Region (capital Atyrau)
    Place("Atyrau", "KAZ007", 47.11, 51.92, 300_000),
    Place("Kulsary", "KAZ007", 46.95, 54.02, 75_000),
    Place("Makhambet", "KAZ007", 47.67, 51.58, 10_000),
    Place("Dossor", "KAZ007", 47.53, 52.98, 8_000),
    Place("Makat", "KAZ007", 47.65, 53.32, 10_000),
    Place("Inderbor", "KAZ007", 48.55, 51.78, 9_000),
    # KAZ008 East Kazakhstan Region (capital Oskemen)
    Place("Oskemen", "KAZ008", 49.95, 82.63, 370_000),
    Place("Ridder", "KAZ008", 50.34, 83.51, 50_000),
    Place("Altai", "KAZ008", 49.72, 84.28, 40_000),
    Place("Shemonaikha", "KAZ008", 50.63, 81.91, 18_000),
    Place("Zaysan", "KAZ008", 47.47, 84.87, 16_000),
    Place("Glubokoe", "KAZ008", 50.14, 82.31, 10_000),
    Place("Kurchum", "KAZ008", 48.57, 83.66, 6_000),
    # KAZ009 Jambyl Region (capital Taraz)
    Place("Taraz", "KAZ009", 42.90, 71.37, 360_000),
    Place("Shu", "KAZ009", 43.60, 73.76, 37_000),
    Place("Karatau", "KAZ009", 43.18, 70.46, 30_000),
    Place("Zhanatas", "KAZ009", 43.57, 69.75, 22_000),
    Place("Kordai", "KAZ009", 43.04, 74.71, 30_000),
    Place("Merke", "KAZ009", 42.87, 73.18, 30_000),
    # KAZ010 Jetisu Region (capital Taldykorgan)
    Place("Taldykorgan", "KAZ010", 45.02, 78.37, 150_000),
    Place("Tekeli", "KAZ010", 44.83, 78.82, 30_000),
    Place("Zharkent", "KAZ010", 44.16, 80.00, 45_000),
    Place("Ushtobe", "KAZ010", 45.25, 77.98, 25_000),
    Place("Sarkand", "KAZ010", 45.41, 79.92, 15_000),
    Place("Usharal", "KAZ010", 46.17, 80.94, 17_000),
    # KAZ011 Karaganda Region (capital Karaganda)
    Place("Karaganda", "KAZ011", 49.81, 73.09, 500_000),
    Place("Temirtau", "KAZ011", 50.06, 72.96, 180_000),
    Place("Balkhash", "KAZ011", 46.85, 75.00, 70_000),
    Place("Shakhtinsk", "KAZ011", 49.71, 72.59, 60_000),
    Place("Saran", "KAZ011", 49.80, 72.84, 50_000),
    Place("Abay", "KAZ011", 49.63, 72.86, 25_000),
    Place("Priozersk", "KAZ011", 46.03, 73.70, 12_000),
    Place("Karkaraly", "KAZ011", 49.41, 75.47, 10_000),
    # KAZ012 Kostanay Region (capital Kostanay)
    Place("Kostanay", "KAZ012", 53.21, 63.63, 260_000),
    Place("Rudny", "KAZ012", 52.97, 63.12, 120_000),
    Place("Lisakovsk", "KAZ012", 52.54, 62.49, 35_000),
    Place("Zhitikara", "KAZ012", 52.19, 61.20, 33_000),
    Place("Arkalyk", "KAZ012", 50.25, 66.92, 28_000),
    Place("Fedorovka", "KAZ012", 53.63, 62.70, 8_000),
    # KAZ013 Kyzylorda Region (capital Kyzylorda)
    Place("Kyzylorda", "KAZ013", 44.85, 65.51, 300_000),
    Place("Aral", "KAZ013", 46.80, 61.67, 35_000),
    Place("Kazaly", "KAZ013", 45.76, 62.11, 8_000),
    Place("Zhosaly", "KAZ013", 45.49, 64.08, 25_000),
    Place("Shieli", "KAZ013", 44.17, 66.74, 30_000),
    Place("Zhanakorgan", "KAZ013", 43.91, 67.25, 25_000),
    # KAZ014 Mangystau Region (capital Aktau)
    Place("Aktau", "KAZ014", 43.66, 51.20, 260_000),
    Place("Zhanaozen", "KAZ014", 43.34, 52.86, 160_000),
    Place("Beyneu", "KAZ014", 45.32, 55.19, 30_000),
    Place("Shetpe", "KAZ014", 44.17, 52.12, 13_000),
    Place("Zhetybay", "KAZ014", 43.59, 52.09, 20_000),
    Place("Fort-Shevchenko", "KAZ014", 44.51, 50.26, 8_000),
    # KAZ015 North Kazakhstan Region (capital Petropavl)
    Place("Petropavl", "KAZ015", 54.87, 69.15, 220_000),
    Place("Taiynsha", "KAZ015", 53.85, 69.77, 12_000),
    Place("Saumalkol", "KAZ015", 53.29, 68.10, 15_000),
    Place("Bulaevo", "KAZ015", 54.90, 70.44, 8_000),
    Place("Mamlyutka", "KAZ015", 54.94, 68.54, 7_000),
    Place("Sergeyevka", "KAZ015", 53.88, 67.42, 7_000),
    # KAZ016 Pavlodar Region (capital Pavlodar)
    Place("Pavlodar", "KAZ016", 52.29, 76.97, 360_000),
    Place("Ekibastuz", "KAZ016", 51.72, 75.32, 130_000),
    Place("Aksu", "KAZ016", 52.04, 76.93, 45_000),
    Place("Irtyshsk", "KAZ016", 53.34, 75.46, 8_000),
    Place("Sharbakty", "KAZ016", 52.48, 78.16, 8_000),
    Place("Bayanaul", "KAZ016", 50.79, 75.70, 6_000),
    # KAZ017 Shymkent (city of republican significance)
    Place("Shymkent", "KAZ017", 42.35, 69.58, 300_000, "Abay district"),
    Place("Shymkent", "KAZ017", 42.32, 69.60, 310_000, "Al-Farabi district"),
    Place("Shymkent", "KAZ017", 42.30, 69.64, 260_000, "Enbekshi district"),
    Place("Shymkent", "KAZ017", 42.36, 69.66, 220_000, "Karatau district"),
    Place("Shymkent", "KAZ017", 42.28, 69.55, 150_000, "Turan district"),
    # KAZ018 Turkistan Region (capital Turkistan)
    Place("Turkistan", "KAZ018", 43.30, 68.25, 200_000),
    Place("Kentau", "KAZ018", 43.52, 68.51, 70_000),
    Place("Saryagash", "KAZ018", 41.46, 69.17, 40_000),
    Place("Arys", "KAZ018", 42.43, 68.80, 45_000),
    Place("Lenger", "KAZ018", 42.18, 69.88, 30_000),
    Place("Zhetisay", "KAZ018", 40.78, 68.33, 35_000),
    Place("Shardara", "KAZ018", 41.26, 67.97, 30_000),
    Place("Kazygurt", "KAZ018", 41.76, 69.38, 30_000),
    Place("Sholakkorgan", "KAZ018", 43.76, 69.18, 15_000),
    # KAZ019 Ulytau Region (capital Zhezkazgan)
    Place("Zhezkazgan", "KAZ019", 47.78, 67.77, 90_000),
    Place("Satpayev", "KAZ019", 47.90, 67.53, 70_000),
    Place("Karazhal", "KAZ019", 48.00, 70.80, 15_000),
    Place("Ulytau", "KAZ019", 48.65, 67.00, 5_000),
    # KAZ020 West Kazakhstan Region (capital Oral)
    Place("Oral", "KAZ020", 51.23, 51.39, 320_000),
    Place("Aksay", "KAZ020", 51.17, 52.99, 35_000),
    Place("Chapaev", "KAZ020", 50.20, 51.17, 10_000),
    Place("Kaztalovka", "KAZ020", 49.76, 48.69, 7_000),
    Place("Zhanibek", "KAZ020", 49.42, 46.85, 6_000),
    Place("Peremetnoe", "KAZ020", 51.20, 50.85, 6_000),
    Place("Shyngyrlau", "KAZ020", 51.09, 54.08, 5_000),
)

PLACE_COLUMNS = ["name", "district", "region_code", "lat", "lon", "population"]


def places_frame() -> pd.DataFrame:
    """The places as a DataFrame, with `district` filled in for ordinary towns."""
    frame = pd.DataFrame(PLACES, columns=list(Place._fields))
    frame["district"] = frame["district"].where(
        frame["district"] != "", frame["name"] + " district"
    )
    return frame[PLACE_COLUMNS]
