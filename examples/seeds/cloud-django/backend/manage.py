# placeholder: the seed's Django entry point (stacktasks detects Django by it)
