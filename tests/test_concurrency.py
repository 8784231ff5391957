"""50 people signing in or joining at once, against a real server process: no "database is
locked", no 500, every one of them in."""

import asyncio
import re

import httpx

from conftest import PASSWORD, make_user, make_walk, server_log_problems

from walkapp.tables import Participant

CROWD = 50


async def _csrf(client: httpx.AsyncClient, path: str) -> dict[str, str]:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return {"x-csrftoken": client.cookies["walkapp_csrf"]}


async def test_fifty_concurrent_sign_ins(live_server):
    users = [await make_user("agent", f"agent{i}@ville.example") for i in range(3)]

    async def one(i: int) -> int:
        async with httpx.AsyncClient(base_url=live_server["url"], timeout=60) as client:
            headers = await _csrf(client, "/connexion")
            response = await client.post("/connexion", headers=headers,
                                         data={"email": users[i % 3].email, "password": PASSWORD})
            assert response.status_code == 303, response.text
            page = await client.get("/marches")
            return page.status_code

    results = await asyncio.gather(*(one(i) for i in range(CROWD)))
    assert results == [200] * CROWD
    assert server_log_problems(live_server["log"]) == []


async def test_fifty_concurrent_joins(live_server):
    walk = await make_walk("open")

    async def one(i: int) -> int:
        async with httpx.AsyncClient(base_url=live_server["url"], timeout=60) as client:
            headers = await _csrf(client, f"/j/{walk.join_secret}")
            response = await client.post(f"/j/{walk.join_secret}", headers=headers,
                                         data={"display_name": f"Habitant {i}"})
            assert response.status_code == 303, response.text
            return (await client.get(response.headers["location"])).status_code

    results = await asyncio.gather(*(one(i) for i in range(CROWD)))
    assert results == [200] * CROWD
    names = {p["display_name"] for p in await Participant.select(Participant.display_name)}
    assert names == {f"Habitant {i}" for i in range(CROWD)}
    assert server_log_problems(live_server["log"]) == []
    assert not re.search(r"locked", live_server["log"].read_text())
