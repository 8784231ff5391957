from conftest import sign_in


async def test_home(client):
    response = await client.get("/")
    assert response.status_code == 200
    assert "Diagnostic en marchant" in response.text


async def test_sign_in(client):
    await sign_in(client)
    response = await client.get("/marches")
    assert response.status_code == 200, response.text
