from gateway.app import create_app
from gateway.settings import Settings
from services.common.serve import serve

if __name__ == "__main__":
    settings = Settings()
    serve("gateway", create_app, settings, settings.gateway_port)
