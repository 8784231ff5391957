"""Open311 GeoReport v2 at /open311/v2/, so existing Open311 clients and city systems can read
constats and post new ones (PRODUCT.md, "External contract"; http://wiki.open311.org/GeoReport_v2).

Mapping
- services = the seven GUSP issues: service_code is the issue code, service_name its French label
  (from walkapp.gusp only), type "realtime" (a POST creates the constat at once), group "Enjeux
  GUSP". metadata is true: the service definition offers two optional attributes, `angle` (the
  four analysis angles; "gestion" when not sent) and `polarity` ("negative" when not sent).
  The spec says metadata=true means "call the definition for extra fields"; as both are optional,
  a client that ignores them still posts successfully.
- requests = observations (constats). service_request_id is the constat number.
- status: new and validated -> "open"; duplicate and rejected -> "closed". A closed walk does not
  close its constats (their follow-up continues in the tableau de suivi); status_notes gives our
  own status in French ("Validé", "Doublon du constat n° 12"…).
- requested_datetime is when the constat was made (observed_at, else received_at), updated_datetime
  the last staff change (ObservationEvent) or the reception; W3C datetimes with the Paris offset.
- media_url is the absolute URL of the first photo at display size, served by this module
  (/open311/v2/media/<photo id>.jpg) under the same read rule as the constat.

Who may read and write is walkapp.policy's "open311.read" and "constat.create" (explained here).

Who may read (GET)
  Constats hold residents' own words, so they are not all public: anyone may read the
  *validated* constats (staff have reviewed them); a client sending its `api_key` (query string)
  also reads every constat of its key's walk (so it can follow what it posted); signed-in staff
  read everything. Anything else answers 404, as if it did not exist.

Who may write (POST requests)
  Only with an `api_key` made by a coordinator at /open311/cles. The constat goes into the walk
  chosen for the key, authored by a participant named after the key (made on first use), through
  observations.services.record(), the one write path. Personal fields of the spec (email, names,
  phone, device_id, account_id) are not stored. media_url, when sent, is kept as a line of the
  description ("Média joint : <url>"); nothing is fetched from it. The key's walk must be open:
  409 while it is planned, 403 once it is closed (as for every route that makes a constat).
  These POSTs are exempt from CSRF (see security.CSRFUnlessBearer): the key in the body is the
  credential and the handler never looks at cookies, so a forged cross-site POST gains nothing.

Paging (GET requests)
  The common extension: `page` (from 1) and `page_size` (1 to 1000, default 1000). Without any
  date, the spec's default applies: the last 90 days. Newest first.

Errors are the spec's: a list of {"code", "description"} (XML <errors><error>…), French
descriptions, and the same HTTP status as `code`.
"""
