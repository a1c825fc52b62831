from tests.support.firms import PASSWORD, Firm


def test_firm_admin_signs_in_on_their_firms_subdomain(firm_a: Firm) -> None:
    client = firm_a.client()
    response = client.post("/accounts/login/", {"username": "alice@acme.test", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert b"alice@acme.test" in response.content
    assert b"Acme Immigration LLP" in response.content
