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
- status tells what was done (the follow-up table, Annexe 2): "closed" once every action linked
  to the constat is Réalisée (at least one), or once it is rejected or a duplicate; "open"
  otherwise (new or validated, without actions or with one not yet done: À engager, En cours,
  Reportée, Abandonnée). A closed walk does not close its constats (their follow-up continues).
  The `status` filter of GET requests applies the same rule in SQL.
- status_notes: our own status in French ("Validé", "Doublon du constat n° 12"), then each linked
  action with its state: "Validé. Action n° 3 « Encombrants rue d'Aire » : Réalisée ; action
  n° 5 : En cours." (the actions' number, problem and state are public already: the restitution
  shows them).
- agency_responsible: the pilot partner of its actions (each once, in the actions' order);
  expected_datetime: the latest échéance of its actions, as the end of that day in the site's zone
  (2026-12-31T23:59:59+01:00); both empty without actions.
- requested_datetime is when the constat was made (observed_at, else received_at), updated_datetime
  the latest of: its reception, its staff changes (ObservationEvent), every change of its actions
  (ActionEvent, links included) and the unlinking of an action from it; W3C datetimes with the
  site's offset.
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
  description ("Média joint : <url>"); nothing is fetched from it. A multipart POST may carry
  photos as `media` file parts (up to 8; the extension FixMyStreet and Mark-a-Spot clients use):
  they go through the JSON API's photo pipeline (observations.schemas.read_photos, then
  photos.process in record(); blurred after the answer by the privacy workers) and a refused one
  (not an image, too large) refuses the request in the spec's error shape, storing nothing; a
  file under another field name, or `media` sent as text, is a 400, never silently dropped. With
  lat/long, the constat's location source is "open311" (the client's position). The key's walk
  must be open: 409 while it is planned, 403 once it is closed (as for every route that makes a
  constat).
  These POSTs are exempt from CSRF (see security.CSRFUnlessBearer): the key in the body is the
  credential and the handler never looks at cookies, so a forged cross-site POST gains nothing.

Paging (GET requests)
  The common extension: `page` (from 1) and `page_size` (1 to 1000, default 1000). Without any
  date, the spec's default applies: the last 90 days. Newest first.

Errors are the spec's: a list of {"code", "description"} (XML <errors><error>…), French
descriptions, and the same HTTP status as `code`.
"""
