# Aliases onto the inv tasks, as a user's project would keep them; arguments pass through
# unchanged (`just logs -f -- app worker`). Run from the repository root: they act on the demo.
set positional-arguments

inv := ".venv/bin/inv"

up *args:
    {{inv}} up "$@"
down *args:
    {{inv}} down "$@"
ps *args:
    {{inv}} ps "$@"
logs *args:
    {{inv}} logs "$@"
restart *args:
    {{inv}} restart "$@"
exec *args:
    {{inv}} exec "$@"
shell *args:
    {{inv}} shell "$@"
rebuild *args:
    {{inv}} rebuild "$@"
reset *args:
    {{inv}} reset "$@"
test *args:
    {{inv}} test "$@"
doctor *args:
    {{inv}} doctor "$@"
migrate *args:
    {{inv}} db.migrate "$@"
backup *args:
    {{inv}} db.backup "$@"
restore *args:
    {{inv}} db.restore "$@"
psql *args:
    {{inv}} db.shell "$@"
