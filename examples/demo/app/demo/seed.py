"""Development data for a new database: `inv onboard` runs it once (app.seed)."""

from demo import store

if __name__ == "__main__":
    note = store.add_note("welcome: this note was seeded by inv onboard")
    print(f"seeded note {note}")
