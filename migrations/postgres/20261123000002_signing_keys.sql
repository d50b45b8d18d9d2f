-- signing_keys: the key ring's states, shared by every instance. The private key of
-- each row is the file <kid>.pem in keys.dir; the database never holds key material.
create table signing_keys (
    -- RFC 7638 JWK thumbprint of the public key
    kid          text primary key,
    alg          text not null check (alg in ('ES256', 'RS256')),
    -- next: published, not yet signing; active: signing; retired: published until
    -- every token it signed has expired
    state        text not null check (state in ('next', 'active', 'retired')),
    created_at   timestamptz not null,
    activated_at timestamptz,
    retired_at   timestamptz
);

-- exactly one key signs at a time: a second 'active' row is a unique violation
create unique index signing_keys_one_active on signing_keys (state) where state = 'active';
