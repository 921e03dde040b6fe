"""Connections shared by the server, the worker and the tests."""

import os

import psycopg2
import redis


def database():
    return psycopg2.connect(os.environ["DATABASE_URL"])


def cache():
    return redis.Redis.from_url(os.environ["REDIS_URL"])


def add_note(text):
    with database() as connection, connection.cursor() as cursor:
        cursor.execute("INSERT INTO notes (body) VALUES (%s) RETURNING id", (text,))
        return cursor.fetchone()[0]


def count_notes():
    with database() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM notes")
        return cursor.fetchone()[0]
