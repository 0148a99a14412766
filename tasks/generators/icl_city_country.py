"""``icl_city_country``: city -> country (lexical mapping, world knowledge; 4 choices).

Docs: ``{"city": str, "choices": [4 countries], "label": int}``.  Cities are split disjointly
between train and validation, stratified by country; distractors are other countries.
"""

from __future__ import annotations

from .common import TaskSpec, lexical_task, pick_distractors

CITIES = """
United States: New York, Los Angeles, Chicago, Houston, Boston, Seattle, San Francisco, Miami, Las Vegas, Denver, Philadelphia, Atlanta, Dallas, Detroit, New Orleans, Phoenix, San Diego, Austin
Canada: Toronto, Montreal, Vancouver, Ottawa, Calgary, Winnipeg, Edmonton
Mexico: Guadalajara, Cancun, Monterrey, Tijuana, Acapulco
Brazil: Rio de Janeiro, Sao Paulo, Brasilia, Recife, Manaus
Argentina: Buenos Aires, Mendoza, Rosario
Chile: Santiago, Valparaiso
Peru: Lima, Cusco
Colombia: Bogota, Medellin, Cali
Venezuela: Caracas
Cuba: Havana
England: London, Manchester, Liverpool, Oxford, Bristol, Leeds
Scotland: Edinburgh, Glasgow, Aberdeen
Wales: Cardiff
Ireland: Dublin, Cork, Galway
France: Paris, Marseille, Lyon, Nice, Bordeaux, Toulouse, Strasbourg, Lille, Nantes, Cannes
Germany: Berlin, Munich, Hamburg, Frankfurt, Cologne, Stuttgart, Dresden, Leipzig, Dusseldorf, Bonn
Italy: Rome, Milan, Venice, Florence, Naples, Turin, Bologna, Pisa, Verona, Genoa, Palermo
Spain: Madrid, Barcelona, Seville, Malaga, Bilbao, Granada, Zaragoza
Portugal: Lisbon, Porto
Netherlands: Amsterdam, Rotterdam, The Hague, Utrecht
Belgium: Brussels, Antwerp, Bruges, Ghent
Switzerland: Zurich, Geneva, Bern, Basel
Austria: Vienna, Salzburg, Innsbruck
Greece: Athens, Thessaloniki
Turkey: Istanbul, Ankara, Izmir
Russia: Moscow, Saint Petersburg, Novosibirsk, Vladivostok
Poland: Warsaw, Krakow, Gdansk
Czech Republic: Prague, Brno
Hungary: Budapest
Romania: Bucharest
Bulgaria: Sofia
Serbia: Belgrade
Croatia: Zagreb, Dubrovnik
Ukraine: Kyiv, Odessa
Sweden: Stockholm, Gothenburg
Norway: Oslo, Bergen
Denmark: Copenhagen
Finland: Helsinki
Iceland: Reykjavik
Egypt: Cairo, Alexandria, Luxor
Morocco: Casablanca, Marrakech, Rabat
Kenya: Nairobi, Mombasa
Nigeria: Lagos, Abuja
South Africa: Johannesburg, Cape Town, Durban
Ethiopia: Addis Ababa
Ghana: Accra
Algeria: Algiers
Senegal: Dakar
Japan: Tokyo, Osaka, Kyoto, Hiroshima, Nagoya, Sapporo, Yokohama, Kobe
China: Beijing, Shanghai, Guangzhou, Shenzhen, Wuhan, Chengdu, Nanjing
South Korea: Seoul, Busan
North Korea: Pyongyang
India: Mumbai, Delhi, Bangalore, Kolkata, Chennai, Jaipur, Agra
Pakistan: Karachi, Lahore, Islamabad
Bangladesh: Dhaka
Nepal: Kathmandu
Sri Lanka: Colombo
Thailand: Bangkok, Phuket, Chiang Mai
Vietnam: Hanoi, Ho Chi Minh City, Da Nang
Indonesia: Jakarta, Surabaya
Philippines: Manila, Cebu
Malaysia: Kuala Lumpur
Iran: Tehran, Isfahan
Iraq: Baghdad, Basra
Saudi Arabia: Riyadh, Mecca, Jeddah
Israel: Tel Aviv, Haifa
Lebanon: Beirut
Syria: Damascus, Aleppo
Jordan: Amman
United Arab Emirates: Dubai, Abu Dhabi
Qatar: Doha
Afghanistan: Kabul
Australia: Sydney, Melbourne, Brisbane, Perth, Adelaide, Canberra
New Zealand: Auckland, Wellington, Christchurch
"""


def gen_city_country() -> TaskSpec:
    """The city -> country task: one doc per city in ``CITIES``."""
    pairs, countries = [], []
    for line in CITIES.strip().splitlines():
        country, cities = line.split(":")
        countries.append(country.strip())
        pairs += [(c.strip(), country.strip()) for c in cities.split(",")]
    # Close neighbours/overlapping names are never offered as distractors for each other.
    confusable = [{"England", "Scotland", "Wales", "Ireland"}, {"North Korea", "South Korea"}]

    def distract(rng, cue, gold):
        bad = [gold]
        for grp in confusable:
            if gold in grp:
                bad += sorted(grp)
        return pick_distractors(rng, countries, bad, 3)

    return lexical_task(
        "icl_city_country",
        pairs,
        "City: {{city}}\nCountry:",
        "city",
        "lexical mapping (world knowledge)",
        distract,
        strata=lambda p: p[1],
    )
