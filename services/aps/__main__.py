from services.aps.app import create_app
from services.aps.settings import Settings
from services.common.serve import serve

if __name__ == "__main__":
    settings = Settings()
    serve("services.aps", create_app, settings, settings.aps_port)
